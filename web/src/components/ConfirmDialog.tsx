// "Are you sure?" for actions that change a person's or a certificate's standing. Extra fields
// (a reason, a revocation reason) go in as children; a failure is shown inside the dialog.
import type { ReactNode } from 'react';
import type { ApiError } from '../api';
import { Dialog, DialogActions } from './Dialog';
import { ErrorPanel } from './ErrorPanel';

interface Props {
  open: boolean;
  title: string;
  confirmLabel: string;
  /** The way out; "Cancel" unless that reads like the action ("Cancel request"). */
  cancelLabel?: string;
  danger?: boolean;
  busy?: boolean;
  error?: ApiError | null;
  onConfirm: () => void;
  onCancel: () => void;
  children?: ReactNode;
}

export function ConfirmDialog({
  open,
  title,
  confirmLabel,
  cancelLabel,
  danger,
  busy,
  error,
  onConfirm,
  onCancel,
  children,
}: Props) {
  return (
    <Dialog
      open={open}
      title={title}
      onClose={onCancel}
      footer={
        <DialogActions
          onCancel={onCancel}
          cancelLabel={cancelLabel}
          label={confirmLabel}
          busy={busy}
          danger={danger}
          form="confirm-dialog-form"
        />
      }
    >
      <form
        id="confirm-dialog-form"
        onSubmit={(e) => {
          e.preventDefault();
          onConfirm();
        }}
      >
        {children}
      </form>
      <ErrorPanel error={error} title={`${confirmLabel} failed`} />
    </Dialog>
  );
}
