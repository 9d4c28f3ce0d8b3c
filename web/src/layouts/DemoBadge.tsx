import { useSession } from '../session';

/** Shown on every page of a demo server, so nobody mistakes demo data for the real thing. */
export function DemoBadge() {
  const { meta } = useSession();
  if (!meta?.demo) return null;
  return (
    <span className="demo-badge" title="This server runs in demo mode: demo users, emulated cards, test CA">
      DEMO
    </span>
  );
}
