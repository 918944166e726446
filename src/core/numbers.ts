/**
 * Number fields of the config schemas: a range check whose every failure
 * says the whole range (and the unit), so an operator sees what to write.
 */
import { z } from "zod";

/** A number within [min, max]; every failure says the whole range. */
export const numberIn = (min: number, max: number, options: { int?: boolean; unit?: string } = {}) => {
  const what = options.int ? "a whole number" : "a number";
  const unit = options.unit ? ` ${options.unit}` : "";
  const error = `expected ${what} from ${min} to ${max}${unit}`;
  const schema = z.number({ error });
  return (options.int ? schema.int({ error }) : schema).min(min, { error }).max(max, { error });
};
