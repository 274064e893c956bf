/**
 * One operation at a time per desktop id: a hypervisor runs start, stop and destroy of the same
 * desktop one after the other (a failed one does not block the next), while different desktops
 * go on in parallel. Shared by the QEMU and libvirt drivers.
 */
export class PerIdQueue {
  private readonly tails = new Map<string, Promise<unknown>>();

  /** Runs `task` once every earlier task for `id` has settled. */
  run<T>(id: string, task: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(id) ?? Promise.resolve();
    const run = previous.then(task, task);
    const tail = run.catch(() => undefined);
    this.tails.set(id, tail);
    void tail.then(() => {
      if (this.tails.get(id) === tail) this.tails.delete(id);
    });
    return run;
  }

  /** Whether a task for `id` is queued or running. */
  busy(id: string): boolean {
    return this.tails.has(id);
  }
}
