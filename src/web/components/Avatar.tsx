import { initials, paletteIndex } from '../lib/format';
import { WebhookIcon } from './icons';

export function Avatar({ id, name, kind = 'user', size = 'medium' }: { id: string; name: string; kind?: 'user' | 'webhook'; size?: 'small' | 'medium' }) {
  if (kind === 'webhook') {
    return (
      <span className={`avatar avatar-${size} avatar-webhook`} aria-hidden="true">
        <WebhookIcon />
      </span>
    );
  }
  return (
    <span className={`avatar avatar-${size} avatar-c${paletteIndex(id)}`} aria-hidden="true">
      {initials(name)}
    </span>
  );
}
