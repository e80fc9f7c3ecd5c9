/**
 * Reactions (issue 14): the chips under a message (one toggle button per emoji, with who reacted)
 * and the small picker the Add reaction button opens (a non-modal popover, role dialog
 * "Reactions"). On an alert — a webhook message — ✅ reads as the acknowledgement.
 */
import { type KeyboardEvent, type RefObject, useEffect, useLayoutEffect, useRef, useState } from 'react';
import type { Reaction } from '../../shared/api-types';

/** The picker's emoji, ✅ first (acknowledging an alert). */
export const PICKER_EMOJI = ['✅', '👍', '👀', '🎉', '❤️', '😄', '😕', '🚀', '❌', '⚠️', '🙏', '👎'] as const;

export const ACK_EMOJI = '✅';

const COLUMNS = 6;

/** "Ann Example, Bob" — names from the roster, "someone" for ids it does not know. */
export function reactorNames(reaction: Reaction, names: ReadonlyMap<string, string>): string {
  return reaction.userIds.map((id) => names.get(id) ?? 'someone').join(', ');
}

interface ReactionChipsProps {
  reactions: readonly Reaction[];
  myUserId: string;
  names: ReadonlyMap<string, string>;
  /** The message is an alert (a webhook's): ✅ is its acknowledgement. */
  isAlert: boolean;
  onToggle(emoji: string, on: boolean): void;
}

export function ReactionChips({ reactions, myUserId, names, isAlert, onToggle }: ReactionChipsProps) {
  if (reactions.length === 0) return null;
  return (
    <div className="reactions" role="group" aria-label="Reactions">
      {reactions.map((r) => {
        const mine = r.userIds.includes(myUserId);
        const who = reactorNames(r, names);
        const ack = isAlert && r.emoji === ACK_EMOJI;
        return (
          <button
            key={r.emoji}
            type="button"
            className={`reaction${mine ? ' reaction-mine' : ''}${ack ? ' reaction-ack' : ''}`}
            aria-pressed={mine}
            aria-label={`${r.emoji} ${r.count} — ${who}`}
            title={ack ? `Acknowledged by ${who}` : `${who} reacted with ${r.emoji}`}
            onClick={() => onToggle(r.emoji, !mine)}
          >
            <span className="reaction-emoji" aria-hidden="true">
              {r.emoji}
            </span>
            <span className="reaction-count" aria-hidden="true">
              {r.count}
            </span>
            {ack ? (
              <span className="reaction-ack-label" aria-hidden="true">
                Acknowledged
              </span>
            ) : null}
          </button>
        );
      })}
    </div>
  );
}

interface ReactionPickerProps {
  /** Emoji I already reacted with (pressed; picking one again removes it). */
  mine: ReadonlySet<string>;
  onPick(emoji: string, on: boolean): void;
  /** Closes the picker; `refocus`: put focus back on the button that opened it. */
  onClose(refocus: boolean): void;
  /** The Add reaction button (clicks on it toggle the picker rather than close it from outside). */
  anchor: RefObject<HTMLButtonElement | null>;
}

export function ReactionPicker({ mine, onPick, onClose, anchor }: ReactionPickerProps) {
  const ref = useRef<HTMLDivElement>(null);
  const [up, setUp] = useState(false);
  const onCloseRef = useRef(onClose);
  onCloseRef.current = onClose;

  // Opens upwards when there is more room above (a message low in the list).
  useLayoutEffect(() => {
    const el = ref.current;
    const scroller = el?.closest('.message-scroller');
    if (!el || !scroller) return;
    const box = el.getBoundingClientRect();
    const view = scroller.getBoundingClientRect();
    if (box.bottom > view.bottom && box.top - view.top > view.bottom - box.top) setUp(true);
    el.querySelector<HTMLButtonElement>('button')?.focus({ preventScroll: true });
  }, []);

  useEffect(() => {
    const onPointer = (e: PointerEvent) => {
      const t = e.target as Node;
      if (!ref.current?.contains(t) && !anchor.current?.contains(t)) onCloseRef.current(false);
    };
    document.addEventListener('pointerdown', onPointer);
    return () => document.removeEventListener('pointerdown', onPointer);
  }, [anchor]);

  const onKeyDown = (e: KeyboardEvent<HTMLDivElement>) => {
    const buttons = [...(ref.current?.querySelectorAll<HTMLButtonElement>('button') ?? [])];
    const i = buttons.indexOf(document.activeElement as HTMLButtonElement);
    const move: Record<string, number> = { ArrowRight: 1, ArrowLeft: -1, ArrowDown: COLUMNS, ArrowUp: -COLUMNS };
    if (e.key === 'Escape') {
      e.preventDefault();
      e.stopPropagation();
      onClose(true);
    } else if (e.key in move && i >= 0) {
      e.preventDefault();
      const next = i + move[e.key]!;
      buttons[Math.min(buttons.length - 1, Math.max(0, next))]?.focus();
    } else if (e.key === 'Home' || e.key === 'End') {
      e.preventDefault();
      (e.key === 'Home' ? buttons[0] : buttons[buttons.length - 1])?.focus();
    } else if (e.key === 'Tab') {
      onClose(false);
    }
  };

  return (
    <div ref={ref} className={`reaction-picker${up ? ' reaction-picker-up' : ''}`} role="dialog" aria-label="Reactions" onKeyDown={onKeyDown}>
      {PICKER_EMOJI.map((emoji) => {
        const pressed = mine.has(emoji);
        return (
          <button
            key={emoji}
            type="button"
            className="reaction-picker-item"
            aria-label={`React with ${emoji}`}
            aria-pressed={pressed}
            title={pressed ? `Remove ${emoji}` : `React with ${emoji}`}
            onClick={() => {
              onPick(emoji, !pressed);
              onClose(true);
            }}
          >
            <span aria-hidden="true">{emoji}</span>
          </button>
        );
      })}
    </div>
  );
}
