import { FleetTable } from '@/components/fleet-table';

export default function FleetPage() {
  return (
    <>
      <h1>Fleet</h1>
      <FleetTable />
    </>
  );
}
