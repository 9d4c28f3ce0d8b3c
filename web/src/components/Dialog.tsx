// A modal dialog on the native <dialog> element: showModal() makes the rest of the page inert (so
// focus stays inside), Escape closes it, and focus returns to whatever opened it.
import { useEffect, useId, useRef, type ReactNode } from 'react';

interface Props {
  open: boolean;
  title: string;
  onClose: () => void;
  children: ReactNode;
  /** Buttons along the bottom edge. */
  footer?: ReactNode;
  /** Element to focus first (by CSS selector inside the dialog); the first field or button otherwise. */
  initialFocus?: string;
  wide?: boolean;
}

const FOCUSABLE =
  'a[href], button:not([disabled]), input:not([disabled]):not([type="hidden"]), select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex="-1"])';

export function Dialog({ open, title, onClose, children, footer, initialFocus, wide }: Props) {
  const ref = useRef<HTMLDialogElement>(null);
  const opener = useRef<HTMLElement | null>(null);
  /** Shown and not yet closed: an owner that unmounts the dialog instead of closing it. */
  const shown = useRef(false);
  const titleId = useId();
  const onCloseRef = useRef(onClose);
  onCloseRef.current = onClose;

  useEffect(() => {
    const dlg = ref.current;
    if (!dlg) return;
    if (open && !dlg.open) {
      opener.current = document.activeElement as HTMLElement | null;
      dlg.showModal();
      shown.current = true;
      const first =
        (initialFocus ? dlg.querySelector<HTMLElement>(initialFocus) : null) ??
        dlg.querySelector('.dialog__body')?.querySelector<HTMLElement>(FOCUSABLE) ??
        dlg.querySelector<HTMLElement>(FOCUSABLE);
      first?.focus();
    } else if (!open && dlg.open) {
      dlg.close();
      shown.current = false;
      opener.current?.focus();
    }
  }, [open, initialFocus]);

  // Most dialogs are rendered only while open (`{adding && <AddDeviceDialog …/>}`): they are
  // unmounted, never closed, so focus goes back to the opener here, or it would drop to <body>. A
  // dialog that opens in the same render (Add Device hands over to the issuance dialog) runs its
  // effect after this one, so it takes the same opener.
  useEffect(
    () => () => {
      if (!shown.current) return;
      shown.current = false;
      if (opener.current?.isConnected) opener.current.focus();
    },
    [],
  );

  // Escape fires "cancel"; let the owner decide (it sets open=false), rather than the browser.
  useEffect(() => {
    const dlg = ref.current;
    if (!dlg) return;
    const cancel = (e: Event) => {
      e.preventDefault();
      onCloseRef.current();
    };
    // Keep Tab inside the dialog even where the browser would move focus to its own chrome.
    const trap = (e: KeyboardEvent) => {
      if (e.key !== 'Tab') return;
      const items = Array.from(dlg.querySelectorAll<HTMLElement>(FOCUSABLE)).filter(
        (el) => el.offsetParent !== null,
      );
      if (items.length === 0) return;
      const first = items[0]!;
      const last = items[items.length - 1]!;
      if (e.shiftKey && document.activeElement === first) {
        e.preventDefault();
        last.focus();
      } else if (!e.shiftKey && document.activeElement === last) {
        e.preventDefault();
        first.focus();
      }
    };
    dlg.addEventListener('cancel', cancel);
    dlg.addEventListener('keydown', trap);
    return () => {
      dlg.removeEventListener('cancel', cancel);
      dlg.removeEventListener('keydown', trap);
    };
  }, []);

  return (
    <dialog ref={ref} className={`dialog${wide ? ' dialog--wide' : ''}`} aria-labelledby={titleId}>
      {open && (
        <>
          <header className="dialog__header">
            <h2 id={titleId}>{title}</h2>
            <button type="button" className="btn btn-ghost btn-icon" aria-label="Close" onClick={onClose}>
              ×
            </button>
          </header>
          <div className="dialog__body">{children}</div>
          {footer && <footer className="dialog__footer">{footer}</footer>}
        </>
      )}
    </dialog>
  );
}

interface ActionsProps {
  onCancel: () => void;
  cancelLabel?: string;
  /** The dialog's one action, and what it says while it runs. */
  label: string;
  busyLabel?: string;
  busy?: boolean;
  disabled?: boolean;
  danger?: boolean;
  /** Runs the action; leave out when the action submits the form named by `form`. */
  onAction?: () => void;
  form?: string;
}

/** The usual footer: a way out, and the dialog's action, disabled and saying so while it runs. */
export function DialogActions({
  onCancel,
  cancelLabel = 'Cancel',
  label,
  busyLabel = 'Working…',
  busy = false,
  disabled = false,
  danger = false,
  onAction,
  form,
}: ActionsProps) {
  return (
    <>
      <button type="button" className="btn" onClick={onCancel} disabled={busy && !!form}>
        {cancelLabel}
      </button>
      <button
        type={form ? 'submit' : 'button'}
        form={form}
        className={`btn ${danger ? 'btn-danger' : 'btn-primary'}`}
        disabled={busy || disabled}
        onClick={onAction}
      >
        {busy ? busyLabel : label}
      </button>
    </>
  );
}
