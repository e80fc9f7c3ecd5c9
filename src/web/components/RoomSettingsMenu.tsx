/**
 * The gear in the room header (SPEC 7: accessible name "Room settings") and its menu: Manage
 * webhooks (room administrators only), Add members, the Notifications choice and Mute room. A menu
 * button as in the WAI-ARIA pattern: arrows move, Escape closes and returns focus to the gear.
 */
import { Fragment, type KeyboardEvent, useEffect, useId, useRef, useState } from 'react';
import { GearIcon } from './icons';

export interface MenuItem {
  label: string;
  onSelect(): void;
  disabled?: boolean;
  hint?: string;
  /** A choice among the items of its group (menuitemradio): whether it is the current one. */
  checked?: boolean;
  /** Items with the same group are shown together under this heading (e.g. "Notifications"). */
  group?: string;
}

const ITEM_SELECTOR = '[role="menuitem"], [role="menuitemradio"]';

/** Consecutive items of the same group, in order. */
function grouped(items: MenuItem[]): { group: string | undefined; items: MenuItem[] }[] {
  const out: { group: string | undefined; items: MenuItem[] }[] = [];
  for (const item of items) {
    const last = out[out.length - 1];
    if (last && last.group === item.group) last.items.push(item);
    else out.push({ group: item.group, items: [item] });
  }
  return out;
}

export function RoomSettingsMenu({ items }: { items: MenuItem[] }) {
  const [open, setOpen] = useState(false);
  const button = useRef<HTMLButtonElement>(null);
  const menu = useRef<HTMLDivElement>(null);
  const menuId = useId();

  const menuItems = () => [...(menu.current?.querySelectorAll<HTMLButtonElement>(ITEM_SELECTOR) ?? [])];

  useEffect(() => {
    if (!open) return;
    menuItems().find((b) => b.getAttribute('aria-disabled') !== 'true')?.focus();
    const onPointer = (e: PointerEvent) => {
      const t = e.target as Node;
      if (!menu.current?.contains(t) && !button.current?.contains(t)) setOpen(false);
    };
    document.addEventListener('pointerdown', onPointer);
    return () => document.removeEventListener('pointerdown', onPointer);
  }, [open]);

  const close = (refocus: boolean) => {
    setOpen(false);
    if (refocus) button.current?.focus();
  };

  const onMenuKey = (e: KeyboardEvent) => {
    const all = menuItems();
    const i = all.indexOf(document.activeElement as HTMLButtonElement);
    if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      e.preventDefault();
      const next = all[(i + (e.key === 'ArrowDown' ? 1 : all.length - 1)) % all.length];
      next?.focus();
    } else if (e.key === 'Home' || e.key === 'End') {
      e.preventDefault();
      (e.key === 'Home' ? all[0] : all[all.length - 1])?.focus();
    } else if (e.key === 'Escape') {
      e.preventDefault();
      close(true);
    } else if (e.key === 'Tab') {
      close(false);
    }
  };

  return (
    <div className="menu-anchor">
      <button
        ref={button}
        type="button"
        className="icon-button"
        aria-label="Room settings"
        title="Room settings"
        aria-haspopup="menu"
        aria-expanded={open}
        aria-controls={open ? menuId : undefined}
        onClick={() => setOpen((o) => !o)}
        onKeyDown={(e) => {
          if (e.key === 'ArrowDown') {
            e.preventDefault();
            setOpen(true);
          }
        }}
      >
        <GearIcon />
      </button>
      {open ? (
        <div ref={menu} id={menuId} className="menu" role="menu" aria-label="Room settings" onKeyDown={onMenuKey}>
          {grouped(items).map(({ group, items: groupItems }, i) => {
            const buttons = groupItems.map((item) => (
              <button
                key={item.label}
                type="button"
                role={item.checked === undefined ? 'menuitem' : 'menuitemradio'}
                aria-checked={item.checked}
                className={`menu-item${item.checked ? ' menu-item-checked' : ''}`}
                tabIndex={-1}
                aria-label={item.label}
                aria-disabled={item.disabled || undefined}
                onClick={() => {
                  if (item.disabled) return;
                  // Back on the gear first, so a dialog opened by the item returns focus there when it closes.
                  close(true);
                  item.onSelect();
                }}
              >
                {item.checked === undefined ? null : <span className="menu-item-check" aria-hidden="true">{item.checked ? '✓' : ''}</span>}
                <span className="menu-item-label">{item.label}</span>
                {item.hint ? <span className="menu-item-hint">{item.hint}</span> : null}
              </button>
            ));
            if (!group) return <Fragment key={`items-${i}`}>{buttons}</Fragment>;
            const headingId = `${menuId}-group-${i}`;
            return (
              <div key={`group-${group}`} role="group" aria-labelledby={headingId} className="menu-group">
                <div id={headingId} className="menu-group-label">
                  {group}
                </div>
                {buttons}
              </div>
            );
          })}
        </div>
      ) : null}
    </div>
  );
}
