import { type FieldViolation, InvalidArgumentError } from "./errors.js";

/**
 * Collects every problem of a request before failing, so the caller learns all of them at once.
 *
 *   const check = new RequestCheck();
 *   check.text("tour_id", request.tourId, { max: 64 });
 *   check.intRange("seats", request.seats, 1, 50);
 *   check.done(); // throws InvalidArgumentError with one violation per bad field
 */
export class RequestCheck {
  private readonly violations: FieldViolation[] = [];

  /** Records a violation when `ok` is false. */
  that(ok: boolean, field: string, description: string): this {
    if (!ok) this.violations.push({ field, description });
    return this;
  }

  /** A required string of at most `max` characters. */
  text(field: string, value: string, { max, required = true }: { max: number; required?: boolean }): this {
    if (value.length === 0) return this.that(!required, field, "must not be empty");
    return this.that(value.length <= max, field, `must be at most ${max} characters`);
  }

  intRange(field: string, value: number, min: number, max: number): this {
    return this.that(
      Number.isInteger(value) && value >= min && value <= max,
      field,
      `must be between ${min} and ${max}`,
    );
  }

  /** A list page size: 0 picks the default, otherwise 1..max. */
  pageSize(field: string, value: number, max = 100): this {
    return this.that(value >= 0 && value <= max, field, `must be between 0 and ${max}`);
  }

  get failed(): boolean {
    return this.violations.length > 0;
  }

  done(): void {
    if (this.failed) throw new InvalidArgumentError(this.violations);
  }
}
