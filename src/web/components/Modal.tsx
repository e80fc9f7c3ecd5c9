/**
 * A modal dialog on the native <dialog> element: the browser traps focus, makes the page behind
 * inert, closes on Escape and restores focus to the opener.
 */
import { type ReactNode, useEffect, useId, useRef } from 'react';
import { createPortal } from 'react-dom';
import { CloseIcon } from './icons';

interface ModalProps {
  title: string;
  onClose: () => void;
  children: ReactNode;
  /** Optional line under the title. */
  description?: ReactNode;
  size?: 'small' | 'large';
}

export function Modal({ title, onClose, children, description, size = 'small' }: ModalProps) {
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  const descId = useId();
  const onCloseRef = useRef(onClose);
  onCloseRef.current = onClose;

  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    if (!dialog.open) dialog.showModal();
    const release = hideApp();
    const cancel = (e: Event) => {
      e.preventDefault();
      onCloseRef.current();
    };
    dialog.addEventListener('cancel', cancel);
    return () => {
      dialog.removeEventListener('cancel', cancel);
      if (dialog.open) dialog.close();
      release();
    };
  }, []);

  return createPortal(
    <dialog
      ref={ref}
      className={`modal modal-${size}`}
      aria-labelledby={titleId}
      {...(description ? { 'aria-describedby': descId } : {})}
      onMouseDown={(e) => {
        // A press on the backdrop (the dialog element itself, outside its content) closes it.
        if (e.target === ref.current) onClose();
      }}
    >
      <div className="modal-content">
        <header className="modal-header">
          <h2 id={titleId}>{title}</h2>
          <button type="button" className="icon-button" aria-label="Close" onClick={onClose}>
            <CloseIcon />
          </button>
        </header>
        {description ? (
          <p id={descId} className="modal-description">
            {description}
          </p>
        ) : null}
        {children}
      </div>
    </dialog>,
    document.body,
  );
}

let openModals = 0;

/**
 * While a modal is open the app behind it is inert (showModal) and also hidden from the
 * accessibility tree, so screen readers and role queries see only the dialog.
 */
function hideApp(): () => void {
  const root = document.getElementById('root');
  openModals++;
  root?.setAttribute('aria-hidden', 'true');
  let released = false;
  return () => {
    if (released) return;
    released = true;
    openModals--;
    if (openModals === 0) root?.removeAttribute('aria-hidden');
  };
}
