/** The small dialogs: New room, Add members, New user. */
import { type FormEvent, useState } from 'react';
import type { Room, RoomRole } from '../../shared/api-types';
import { ALIAS_INPUT_PATTERN, LIMITS } from '../../shared/limits';
import { api, errorMessage } from '../lib/api';
import { Field, FormError } from './AuthScreens';
import { Modal } from './Modal';

function useSubmit() {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const submit = async (action: () => Promise<void>) => {
    setBusy(true);
    setError(null);
    try {
      await action();
    } catch (e) {
      setError(errorMessage(e));
    } finally {
      setBusy(false);
    }
  };
  return { busy, error, submit };
}

export function NewRoomDialog({ onClose, onCreate }: { onClose(): void; onCreate(name: string): Promise<Room> }) {
  const [name, setName] = useState('');
  const { busy, error, submit } = useSubmit();
  const onSubmit = (e: FormEvent) => {
    e.preventDefault();
    void submit(async () => {
      await onCreate(name.trim());
      onClose();
    });
  };
  return (
    <Modal title="New room" onClose={onClose} description="You will be the room's administrator: you can add members and webhooks.">
      <form className="form" onSubmit={onSubmit}>
        <Field label="Room name" required maxLength={LIMITS.roomNameMaxChars} value={name} onChange={(e) => setName(e.target.value)} autoFocus placeholder="deployments" />
        <FormError message={error} />
        <div className="form-actions">
          <button type="button" className="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="button button-primary" disabled={busy || name.trim() === ''}>
            Create room
          </button>
        </div>
      </form>
    </Modal>
  );
}

export function AddMembersDialog({ roomId, roomName, onClose, onAdded }: { roomId: string; roomName: string; onClose(): void; onAdded(): void }) {
  const [email, setEmail] = useState('');
  const [role, setRole] = useState<RoomRole>('member');
  const [added, setAdded] = useState<string[]>([]);
  const { busy, error, submit } = useSubmit();
  const onSubmit = (e: FormEvent) => {
    e.preventDefault();
    void submit(async () => {
      const { member } = await api.addMember(roomId, email.trim(), role);
      setAdded((a) => [...a, `${member.displayName} (@${member.alias})${member.role === 'administrator' ? ' as administrator' : ''}`]);
      setEmail('');
      onAdded();
    });
  };
  return (
    <Modal title="Add members" onClose={onClose} description={`Add people to #${roomName} by the email address of their Carillon account.`}>
      <form className="form" onSubmit={onSubmit}>
        {added.length > 0 ? (
          <p className="form-notice" role="status">
            Added {added.join(', ')}.
          </p>
        ) : null}
        <Field label="Email" type="email" required autoComplete="off" value={email} onChange={(e) => setEmail(e.target.value)} autoFocus />
        <div className="field">
          <label className="field-label" htmlFor="add-member-role">
            Role
          </label>
          <select id="add-member-role" value={role} onChange={(e) => setRole(e.target.value as RoomRole)}>
            <option value="member">Member</option>
            <option value="administrator">Administrator (manages members and webhooks)</option>
          </select>
        </div>
        <FormError message={error} />
        <div className="form-actions">
          <button type="button" className="button" onClick={onClose}>
            {added.length > 0 ? 'Done' : 'Cancel'}
          </button>
          <button type="submit" className="button button-primary" disabled={busy || email.trim() === ''}>
            Add member
          </button>
        </div>
      </form>
    </Modal>
  );
}

export function NewUserDialog({ onClose }: { onClose(): void }) {
  const [email, setEmail] = useState('');
  const [alias, setAlias] = useState('');
  const [displayName, setDisplayName] = useState('');
  const [password, setPassword] = useState('');
  const [created, setCreated] = useState<string | null>(null);
  const { busy, error, submit } = useSubmit();
  const onSubmit = (e: FormEvent) => {
    e.preventDefault();
    void submit(async () => {
      const { user } = await api.createUser({ email: email.trim(), alias: alias.trim(), displayName: displayName.trim(), password });
      setCreated(`${user.displayName} (@${user.alias}) can now sign in with ${user.email}. Add them to rooms with Room settings → Add members.`);
      setEmail('');
      setAlias('');
      setDisplayName('');
      setPassword('');
    });
  };
  return (
    <Modal title="New user" onClose={onClose} description="Create an account on this server. Give the person their email and password.">
      <form className="form" onSubmit={onSubmit}>
        {created ? (
          <p className="form-notice" role="status">
            {created}
          </p>
        ) : null}
        <Field label="Email" type="email" required autoComplete="off" maxLength={LIMITS.emailMaxChars} value={email} onChange={(e) => setEmail(e.target.value)} autoFocus />
        <Field
          label="Alias"
          required
          autoCapitalize="none"
          spellCheck={false}
          pattern={ALIAS_INPUT_PATTERN}
          maxLength={LIMITS.aliasMaxChars}
          hint="The @handle for mentions: lower-case letters, digits, dots, dashes and underscores"
          value={alias}
          onChange={(e) => setAlias(e.target.value.toLowerCase())}
        />
        <Field label="Display name" required maxLength={LIMITS.displayNameMaxChars} value={displayName} onChange={(e) => setDisplayName(e.target.value)} />
        <Field
          label="Password"
          type="password"
          autoComplete="new-password"
          required
          minLength={LIMITS.passwordMinChars}
          maxLength={LIMITS.passwordMaxChars}
          value={password}
          onChange={(e) => setPassword(e.target.value)}
        />
        <FormError message={error} />
        <div className="form-actions">
          <button type="button" className="button" onClick={onClose}>
            {created ? 'Done' : 'Cancel'}
          </button>
          <button type="submit" className="button button-primary" disabled={busy}>
            Create user
          </button>
        </div>
      </form>
    </Modal>
  );
}
