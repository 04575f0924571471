import type { JSX } from "preact";
import { useId } from "preact/hooks";

import { isApiError } from "../lib/problem";
import { ErrorNote } from "./common";

type FieldProps = Omit<JSX.InputHTMLAttributes<HTMLInputElement>, "onInput" | "value"> & {
  label: string;
  value: string;
  onValue: (value: string) => void;
  error?: string | null;
  hint?: string;
};

/** A labelled input whose error, if any, is announced and tied to it with aria-describedby. */
export function Field({ label, value, onValue, error, hint, ...rest }: FieldProps) {
  const id = useId();
  const describedBy = [hint ? `${id}-hint` : "", error ? `${id}-error` : ""].filter(Boolean).join(" ") || undefined;
  return (
    <div class="field">
      <label for={id}>{label}</label>
      <input
        {...rest}
        id={id}
        value={value}
        aria-invalid={error ? "true" : undefined}
        aria-describedby={describedBy}
        onInput={(event) => onValue((event.currentTarget as HTMLInputElement).value)}
      />
      {hint && (
        <small id={`${id}-hint`} class="muted">
          {hint}
        </small>
      )}
      {error && (
        <small id={`${id}-error`} class="field-error">
          {error}
        </small>
      )}
    </div>
  );
}

/**
 * The bot check's honeypot: a field no person sees or reaches with the keyboard, so only
 * software that fills every input writes into it.
 */
export function Honeypot({ value, onValue }: { value: string; onValue: (value: string) => void }) {
  return (
    <div class="honeypot" aria-hidden="true">
      <label>
        Leave this empty
        <input
          type="text"
          name="website"
          tabIndex={-1}
          autocomplete="off"
          value={value}
          onInput={(event) => onValue((event.currentTarget as HTMLInputElement).value)}
        />
      </label>
    </div>
  );
}

/**
 * The form's error line. When every complaint belongs to a field shown with its own message,
 * it says so instead of repeating the service's summary.
 */
export function FormError({ error, fields }: { error: unknown; fields: string[] }) {
  if (!error) return null;
  const errors = isApiError(error) ? error.problem.errors : [];
  const shown = errors.length > 0 && errors.every((item) => fields.includes(item.pointer.replace(/^\//, "")));
  if (!shown) return <ErrorNote error={error} />;
  return (
    <div class="note note-error" role="alert">
      Check the fields marked above.
    </div>
  );
}
