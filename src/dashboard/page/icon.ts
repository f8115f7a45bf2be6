/** The page's icon, served as /assets/icon.svg (without one the browser asks for /favicon.ico and logs a 404). */
export const PAGE_ICON_SVG = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><rect width="16" height="16" rx="3" fill="#0f1419"/><rect x="3" y="8" width="2.5" height="5" fill="#4c9ffe"/><rect x="6.75" y="5" width="2.5" height="8" fill="#4c9ffe"/><rect x="10.5" y="3" width="2.5" height="10" fill="#3fb950"/></svg>
`
