// Routes of the web app. The operator portal and the user portal have separate layouts; the
// operator portal needs a session, the portal's Welcome page does not.
import { Navigate, Route, Routes } from 'react-router-dom';
import { OperatorLayout } from './layouts/OperatorLayout';
import { PortalLayout } from './layouts/PortalLayout';
import { LoginPage } from './pages/LoginPage';
import { AgentsPage } from './pages/AgentsPage';
import { NotFound } from './pages/NotFound';
import { MailOutboxPage } from './pages/operator/MailOutboxPage';
import { MobileIdPoliciesPage } from './pages/operator/MobileIdPoliciesPage';
import { AuditPage } from './pages/operator/AuditPage';
import { CaPage } from './pages/operator/CaPage';
import { CertificatePage } from './pages/operator/CertificatePage';
import { CertificatesPage } from './pages/operator/CertificatesPage';
import { DeviceConformancePage } from './pages/operator/DeviceConformancePage';
import { DevicesPage } from './pages/operator/DevicesPage';
import { DirectoryPage } from './pages/operator/DirectoryPage';
import { OperatorHome } from './pages/operator/OperatorHome';
import { LayoutsPage } from './pages/operator/LayoutsPage';
import { PoliciesPage } from './pages/operator/PoliciesPage';
import { PolicyEditorPage } from './pages/operator/PolicyEditorPage';
import { SecurityQuestionsPage } from './pages/operator/SecurityQuestionsPage';
import { SettingsPage } from './pages/operator/SettingsPage';
import { UserPage } from './pages/operator/UserPage';
import { RequestPage } from './pages/operator/RequestPage';
import { RequestsPage } from './pages/operator/RequestsPage';
import { PortalPage } from './pages/portal/PortalPage';
import { RequireSession } from './session';

export function App() {
  return (
    <Routes>
      <Route path="/" element={<Navigate to="/operator" replace />} />
      <Route path="/login" element={<LoginPage />} />
      <Route
        path="/operator"
        element={
          <RequireSession>
            <OperatorLayout />
          </RequireSession>
        }
      >
        <Route index element={<OperatorHome />} />
        <Route path="users/:id" element={<UserPage />} />
        <Route path="devices" element={<DevicesPage />} />
        <Route path="devices/:id/conformance" element={<DeviceConformancePage />} />
        <Route path="requests" element={<RequestsPage />} />
        <Route path="requests/:id" element={<RequestPage />} />
        <Route path="policies" element={<PoliciesPage />} />
        <Route path="policies/:id" element={<PolicyEditorPage />} />
        <Route path="layouts" element={<LayoutsPage />} />
        <Route path="settings" element={<SettingsPage />} />
        <Route path="security-questions" element={<SecurityQuestionsPage />} />
        <Route path="directory" element={<DirectoryPage />} />
        <Route path="certificates" element={<CertificatesPage />} />
        <Route path="certificates/:id" element={<CertificatePage />} />
        <Route path="ca" element={<CaPage />} />
        <Route path="audit" element={<AuditPage />} />
        <Route path="mail" element={<MailOutboxPage />} />
        <Route path="mobile-id-policies" element={<MobileIdPoliciesPage />} />
        <Route path="agents" element={<AgentsPage />} />
        <Route path="*" element={<NotFound />} />
      </Route>
      <Route path="/portal" element={<PortalLayout />}>
        <Route index element={<PortalPage />} />
      </Route>
      <Route path="*" element={<Navigate to="/operator" replace />} />
    </Routes>
  );
}
