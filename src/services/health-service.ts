// Whether this process can serve: its database answers. Load balancers ask through /readyz. And
// which servers share the database now (docs/operations.md "Several servers").
import { ping, type Db } from '../store/db.js';
import type { InstanceRecord, InstanceRegistry } from './cluster/instance-registry.js';

export interface InstancesView {
  /** The instance that answered. */
  self: { id: string; name: string };
  /** How many instances hold a lease now (this one included). */
  alive: number;
  /** Alive ones first, then those dead within the last day. */
  instances: InstanceRecord[];
}

export class HealthService {
  constructor(
    private readonly db: Db,
    private readonly instance: Pick<InstanceRegistry, 'id' | 'name' | 'list'>,
  ) {}

  /** True when the database answers; false (never an error) when it does not. */
  async ready(): Promise<boolean> {
    try {
      await ping(this.db);
      return true;
    } catch {
      return false;
    }
  }

  async instances(): Promise<InstancesView> {
    const instances = await this.instance.list();
    return {
      self: { id: this.instance.id, name: this.instance.name },
      alive: instances.filter((i) => i.alive).length,
      instances,
    };
  }
}
