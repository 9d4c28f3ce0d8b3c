// /operator: the Users list for those who may read users; otherwise the first section this
// person may use; and a plain explanation for someone with no operator permission at all.
import { Link, Navigate } from 'react-router-dom';
import { PageHeader } from '../../components/Status';
import { OPERATOR_SECTIONS } from '../../layouts/OperatorLayout';
import { useSession } from '../../session';
import { UsersPage } from './UsersPage';

export function OperatorHome() {
  const { can } = useSession();
  if (can('user.read')) return <UsersPage />;
  const first = OPERATOR_SECTIONS.find((s) => can(s.permission));
  if (first) return <Navigate to={first.to} replace />;
  return (
    <>
      <PageHeader title="No operator access" />
      <p>
        Your account cannot use the operator portal. To manage your own card, go to the{' '}
        <Link to="/portal">user portal</Link>.
      </p>
    </>
  );
}
