export default function Page() {
  return (
    <>
      <h1>Tiers & quotas</h1>
      <div className="empty">Per-tier quotas, temporary limits and the pause are managed here. Not available in this version yet.</div>
    </>
  );
}
