import { AuditLog } from '@/components/audit-log';

export default function AuditPage() {
  return (
    <>
      <h1>Audit</h1>
      <AuditLog />
    </>
  );
}
