export default function Page() {
  return (
    <>
      <h1>Smoke tests</h1>
      <div className="empty">Run the reference generator on a node and compare its checksum. Not available in this version yet.</div>
    </>
  );
}
