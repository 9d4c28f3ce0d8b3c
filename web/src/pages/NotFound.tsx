import { Link } from 'react-router-dom';
import { PageHeader } from '../components/Status';
import { useTitle } from '../hooks';

export function NotFound() {
  useTitle('Not found');
  return (
    <>
      <PageHeader title="Page not found" />
      <p>
        There is nothing at this address. Go back to <Link to="/operator">the operator portal</Link>.
      </p>
    </>
  );
}
