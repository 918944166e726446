/**
 * What a config file may ask of the parsers: lists and objects nested at most
 * MAX_NESTING_DEPTH levels, checked on the text before it is parsed (JSON by
 * its brackets; YAML on yaml's CST, which is built without recursion, unlike
 * the composer that turns it into nodes and overflows the stack on deep
 * input), and a YAML anchor with its aliases standing for at most
 * MAX_ALIAS_COUNT copies of its value (yaml's `maxAliasCount`), so an alias
 * bomb stays small. Both fail as SY_ERR_CONFIG on one line.
 */
import { type CST, type Document, Parser } from "yaml";
import { ErrorCodes, SwitchyardError } from "../core/errors.js";
import {
  jsonNestingExceededAt,
  MAX_NESTING_DEPTH,
  tooDeepNode,
  valueNestingExceeds,
} from "../core/nesting.js";

export const MAX_ALIAS_COUNT = 100;

/** Throws when the file's text nests deeper than MAX_NESTING_DEPTH, naming the line and column. */
export function checkNesting(text: string, path: string, json: boolean): void {
  const offset = json ? jsonNestingExceededAt(text) : yamlNestingExceededAt(text);
  if (offset < 0) return;
  const { line, column } = positionIn(text, offset);
  throw new SwitchyardError(
    ErrorCodes.CONFIG,
    `cannot parse ${path}:${line}:${column}: lists and objects nested deeper than ${MAX_NESTING_DEPTH} levels`,
    { file: path, line, column },
  );
}

/**
 * A parsed YAML document's value, aliases expanded. yaml throws while
 * expanding for an alias bomb, an alias with no anchor before it or a merge
 * of something that is not a map; and aliases can nest a value deeper than
 * the text does (or into itself).
 */
export function expandAliases(document: Document, path: string): unknown {
  let data: unknown;
  try {
    data = document.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (error) {
    if (!(error instanceof Error)) throw error;
    const problem = error.message.startsWith("Excessive alias count")
      ? `aliases expand to more than ${MAX_ALIAS_COUNT} copies of an anchored value`
      : error.message.split("\n")[0];
    throw new SwitchyardError(ErrorCodes.CONFIG, `cannot parse ${path} as YAML: ${problem}`, { file: path });
  }
  if (valueNestingExceeds(data)) {
    throw new SwitchyardError(
      ErrorCodes.CONFIG,
      `cannot parse ${path} as YAML: aliases nest lists and objects deeper than ${MAX_NESTING_DEPTH} levels`,
      { file: path },
    );
  }
  return data;
}

/** The offset of the first YAML collection nested too deep, or -1. */
function yamlNestingExceededAt(text: string): number {
  for (const token of new Parser().parse(text)) {
    if (token.type !== "document" || token.value === undefined) continue;
    const tooDeep = tooDeepNode<CST.Token>(token.value, cstChildren);
    if (tooDeep !== undefined) return tooDeep.offset;
  }
  return -1;
}

/** A collection's keys and values; undefined for anything that holds no nodes. */
function cstChildren(token: CST.Token): CST.Token[] | undefined {
  if (token.type !== "block-map" && token.type !== "block-seq" && token.type !== "flow-collection")
    return undefined;
  const children: CST.Token[] = [];
  for (const item of token.items as CST.CollectionItem[]) {
    if (item.key) children.push(item.key);
    if (item.value) children.push(item.value);
  }
  return children;
}

/** Line and column (from 1) of `offset` in `text`. */
function positionIn(text: string, offset: number): { line: number; column: number } {
  const lineStart = text.lastIndexOf("\n", offset - 1) + 1;
  let line = 1;
  for (let at = text.indexOf("\n"); at !== -1 && at < lineStart; at = text.indexOf("\n", at + 1)) line++;
  return { line, column: offset - lineStart + 1 };
}
