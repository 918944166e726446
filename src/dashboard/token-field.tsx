/**
 * The admin token control in the header: a password field to enter one, or,
 * once set, a mark that it is set and a button to forget it. Reads need no
 * token; only the controls do.
 */
import { useState } from "preact/hooks";

interface TokenFieldProps {
  token: string;
  onChange: (token: string) => void;
}

export function TokenField({ token, onChange }: TokenFieldProps) {
  const [draft, setDraft] = useState("");
  if (token !== "") {
    return (
      <div class="token">
        <span class="token-set">admin token set</span>
        <button type="button" class="link" onClick={() => onChange("")}>
          Forget
        </button>
      </div>
    );
  }
  const submit = (event: Event) => {
    event.preventDefault();
    if (draft.trim() === "") return;
    onChange(draft.trim());
    setDraft("");
  };
  return (
    <form class="token" onSubmit={submit}>
      <label>
        Admin token
        <input
          type="password"
          autocomplete="off"
          value={draft}
          placeholder="for changes"
          onInput={(event) => setDraft(event.currentTarget.value)}
        />
      </label>
      <button type="submit">Use</button>
    </form>
  );
}
