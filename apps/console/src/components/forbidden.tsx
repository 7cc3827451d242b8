export function Forbidden({ role, page }: { role: string; page: string }) {
  return (
    <div role="alert">
      <h1>Forbidden</h1>
      <p className="error">
        The {page} page needs the {role} role.
      </p>
    </div>
  );
}
