// Whether this process can serve: its database answers. Load balancers ask through /readyz.
import { ping, type Db } from '../store/db.js';

export class HealthService {
  constructor(private readonly db: Db) {}

  /** True when the database answers; false (never an error) when it does not. */
  async ready(): Promise<boolean> {
    try {
      await ping(this.db);
      return true;
    } catch {
      return false;
    }
  }
}
