/**
 * How deep config files and admin API bodies may nest lists and objects. A
 * real config needs under ten levels. Code that walks a value recursively
 * (the yaml composer, zod, structuredClone, JSON.stringify) runs out of stack
 * somewhere in the thousands, and a stack overflow is a crash, not an error
 * message; so these checks walk with their own stack and run before anything
 * recursive sees the input.
 */
export const MAX_NESTING_DEPTH = 64;

/**
 * The offset of the first `[` or `{` in JSON text that opens a level deeper
 * than `max`, or -1 when none does. Reads the text only (brackets inside
 * strings do not count), so it never fails however the text is malformed.
 */
export function jsonNestingExceededAt(text: string, max = MAX_NESTING_DEPTH): number {
  let depth = 0;
  let inString = false;
  for (let offset = 0; offset < text.length; offset++) {
    const char = text.charCodeAt(offset);
    if (inString) {
      if (char === BACKSLASH) offset++;
      else if (char === QUOTE) inString = false;
    } else if (char === QUOTE) inString = true;
    else if (char === OPEN_BRACKET || char === OPEN_BRACE) {
      if (++depth > max) return offset;
    } else if (char === CLOSE_BRACKET || char === CLOSE_BRACE) depth--;
  }
  return -1;
}

/**
 * The first node of a tree that opens a level deeper than `max` (each node
 * with children is one level), or undefined when the tree stays within it.
 * `children` lists what a node holds (undefined for a leaf). A cycle is too
 * deep.
 */
export function tooDeepNode<Node>(
  root: Node,
  children: (node: Node) => Iterable<Node> | undefined,
  max = MAX_NESTING_DEPTH,
): Node | undefined {
  const stack: [Node, number][] = [[root, 0]];
  for (let entry = stack.pop(); entry !== undefined; entry = stack.pop()) {
    const [node, depth] = entry;
    const inside = children(node);
    if (inside === undefined) continue;
    if (depth + 1 > max) return node;
    for (const child of inside) stack.push([child, depth + 1]);
  }
  return undefined;
}

/** Whether a plain value nests arrays and objects deeper than `max`. */
export function valueNestingExceeds(value: unknown, max = MAX_NESTING_DEPTH): boolean {
  return tooDeepNode(value, valueChildren, max) !== undefined;
}

function valueChildren(value: unknown): Iterable<unknown> | undefined {
  return typeof value === "object" && value !== null ? Object.values(value) : undefined;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
