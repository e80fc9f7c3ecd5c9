/** The Carillon bell, as in the favicon. */
export function Logo({ size = 32 }: { size?: number }) {
  return (
    <svg className="logo" width={size} height={size} viewBox="0 0 64 64" aria-hidden="true" focusable="false">
      <rect width="64" height="64" rx="14" className="logo-bg" />
      <path className="logo-bell" d="M32 12c-1.7 0-3 1.3-3 3v1.4c-6.3 1.4-10.5 6.9-10.5 13.6v8.5L14.5 43v3h35v-3l-4-4.5V30c0-6.7-4.2-12.2-10.5-13.6V15c0-1.7-1.3-3-3-3z" />
      <path className="logo-bell" d="M27 48.5a5 5 0 0 0 10 0z" />
    </svg>
  );
}
