import type { ComponentChildren } from 'preact';
import { useEffect, useRef } from 'preact/hooks';
import type { Status } from '../api';
import { statusClass } from '../util';

export function StatusBadge({ status }: { status: Status }) {
  return <span class={`badge ${statusClass(status)}`}>{status.replace(/_/g, ' ')}</span>;
}

export function ErrorBox({ error, what }: { error: Error; what: string }) {
  return (
    <div class="error" role="alert">
      <strong>{what}</strong>: {error.message}
    </div>
  );
}

export function Empty({ children }: { children: ComponentChildren }) {
  return <div class="empty">{children}</div>;
}

/**
 * Dialog is a modal: focus moves into it, Escape closes it, and the page
 * behind it is inert.
 */
export function Dialog(props: { title: string; onClose: () => void; children: ComponentChildren }) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const d = ref.current!;
    if (!d.open) d.showModal();
    const close = (e: Event) => {
      e.preventDefault();
      props.onClose();
    };
    d.addEventListener('cancel', close);
    return () => d.removeEventListener('cancel', close);
  }, []);
  return (
    <dialog ref={ref} aria-label={props.title} class="dialog">
      <h2>{props.title}</h2>
      {props.children}
    </dialog>
  );
}
