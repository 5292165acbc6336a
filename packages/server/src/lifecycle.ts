/**
 * Everything a start-up opened, closed in reverse order: the composition root pushes each component as it
 * starts, and a failed start closes what was opened before the failure.
 */
export class Lifecycle {
  private readonly stack: Array<{ name: string; close: () => unknown }> = [];

  /** Registers how to close a component that has just started. */
  defer(name: string, close: () => unknown): void {
    this.stack.push({ name, close });
  }

  /** Closes everything, last started first; a failure to close one does not stop the others. */
  async closeAll(onError: (error: unknown, name: string) => void = () => {}): Promise<void> {
    while (this.stack.length > 0) {
      const { name, close } = this.stack.pop() as { name: string; close: () => unknown };
      try {
        await close();
      } catch (error) {
        onError(error, name);
      }
    }
  }
}
