/** Labelled form fields the panels share: a choice among names, a whole number in a range. */
import type { ComponentChildren } from "preact";

interface NameSelectProps {
  label: ComponentChildren;
  value: string | undefined;
  names: readonly string[];
  onChange: (name: string) => void;
  class?: string;
}

export function NameSelect({ label, value, names, onChange, class: className }: NameSelectProps) {
  return (
    <label class={className}>
      {label}
      <select value={value} onChange={(event) => onChange(event.currentTarget.value)}>
        {names.map((name) => (
          <option key={name} value={name}>
            {name}
          </option>
        ))}
      </select>
    </label>
  );
}

interface WholeNumberFieldProps {
  label: ComponentChildren;
  value: string;
  min: number;
  max?: number;
  onChange: (value: string) => void;
}

export function WholeNumberField({ label, value, min, max, onChange }: WholeNumberFieldProps) {
  return (
    <label>
      {label}
      <input
        type="number"
        min={min}
        max={max}
        step={1}
        required
        value={value}
        onInput={(event) => onChange(event.currentTarget.value)}
      />
    </label>
  );
}
