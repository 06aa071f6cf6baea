/** A count with its noun, singular for exactly one: `1 event`, `2 events`, `0 ETL runs`. */
export function counted(count: number, noun: string, plural = `${noun}s`, text = String(count)): string {
  return `${text} ${count === 1 ? noun : plural}`;
}
