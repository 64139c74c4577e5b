/**
 * Hostile posts for the XSS test in real Chromium. Every payload that runs calls
 * `__tripwire(n)` (a binding the test exposes), `alert(n)` or logs `TRIPWIRE n`; none may.
 * Sources: the OWASP XSS filter evasion cheat sheet, PortSwigger's XSS cheat sheet, known
 * Markdown-renderer and sanitizer bypasses (mutation XSS, link/image title breakouts).
 */
export interface HostilePost {
  title: string;
  body: string;
}

const T = (n: number) => `__tripwire(${n})`;

const BODIES: string[] = [
  `<script>${T(1)}</script>`,
  `<SCRIPT SRC=data:text/javascript,${T(2)}></SCRIPT>`,
  `<img src=x onerror="${T(3)}">`,
  `<img src="x" OnErRoR=${T(4)}>`,
  `<svg onload="${T(5)}"></svg>`,
  `<svg><script>${T(6)}</script></svg>`,
  `<body onload=${T(7)}>`,
  `<iframe src="javascript:parent.${T(8)}"></iframe>`,
  `<iframe srcdoc="<script>parent.${T(9)}</script>"></iframe>`,
  `[a link](javascript:${T(10)})`,
  `[a link](JaVaScRiPt:${T(11)})`,
  `[a link](&#106;avascript:${T(12)})`,
  `<a href="java\tscript:${T(13)}">tab</a> [md tab](java&#x09;script:${T(13)})`,
  `<a href="javascript&colon;${T(14)}">colon entity</a>`,
  `![an image](javascript:${T(15)})`,
  `![x](x" onerror="${T(16)})`,
  `[x](http://example.com" onmouseover="${T(17)})`,
  `See [the ref].\n\n[the ref]: javascript:${T(18)}`,
  `<javascript:${T(19)}>`,
  `[data](data:text/html;base64,PHNjcmlwdD5wYXJlbnQuX190cmlwd2lyZSgyMCk8L3NjcmlwdD4=) <a href="data:text/html,<script>parent.${T(20)}</script>">d</a>`,
  `<object data="javascript:${T(21)}"></object>`,
  `<embed src="javascript:${T(22)}">`,
  `<details open ontoggle="${T(23)}">x</details>`,
  `<input autofocus onfocus="${T(24)}">`,
  `<video><source onerror="${T(25)}"></video><audio src=x onerror=${T(25)}></audio>`,
  `<math><mtext><table><mglyph><style><img src=x onerror=${T(26)}></style></mglyph></table></mtext></math>`,
  `<noscript><p title="</noscript><img src=x onerror=${T(27)}>"></noscript>`,
  `<!--<img src="--><img src=x onerror=${T(28)}//">`,
  `<style>@import 'javascript:${T(29)}';</style><div style="background:url(javascript:${T(29)})">styled</div>`,
  `<form action="javascript:${T(30)}"><button>go</button></form><button formaction="javascript:${T(30)}">x</button>`,
  `<a href="#" onclick="${T(31)}">click me</a>`,
  `<base href="javascript:${T(32)}//"> [relative](x)`,
  `<meta http-equiv="refresh" content="0;url=javascript:${T(33)}">`,
  `<marquee onstart=${T(34)}>x</marquee>`,
  `<a href="vbscript:${T(35)}">vb</a>`,
  `<svg><a xlink:href="javascript:${T(36)}"><text x="20" y="20">svg link</text></a></svg>`,
  `<scr<script>ipt>${T(37)}</scr</script>ipt>`,
  `<img src="x:x" onerror="&#95;&#95;tripwire(38)">`,
  `Inline \`<script>${T(39)}</script>\` and fenced:\n\n\`\`\`html\n<script>${T(39)}</script>\n\`\`\``,
  `<div onmouseover="${T(40)}" style="position:fixed;inset:0">hover</div>`,
  `<template><script>${T(41)}</script></template><x onclick=${T(41)}>custom</x>`,
  `<a href="  javascript:${T(43)}">leading space</a> <a href="javascript:%5F%5Ftripwire(44)">encoded</a>`,
  `[angle](<javascript:${T(45)}>)`,
  `<img src=x onerror=${T(46)}//`,
  `<p>split <img src="x\n" onerror="${T(47)}"></p>`,
  `<a href="https://example.com" target="_blank" rel="opener" onfocus="${T(50)}" autofocus>tabnab</a>`,
  `<img src="https://example.com/x.png" srcset="javascript:${T(51)} 1x">`,
  `<svg><animate onbegin=${T(52)} attributeName=x dur=1s>`,
  `<xss id=x tabindex=1 onfocusin=${T(53)}></xss>`,
  `<iframe src="data:text/html,<script>parent.${T(54)}</script>"></iframe>`,
  // Last, so the CI run of the editor pages (the last few posts) includes these breakouts.
  `</textarea><script>${T(48)}</script><textarea>`,
  `"><svg/onload=${T(49)}> '><img src=x onerror=${T(49)}>`,
];

const TITLES: string[] = [
  `<script>${T(100)}</script>`,
  `"><img src=x onerror=${T(101)}>`,
  `</title><script>${T(102)}</script>`,
  `{{ range.constructor("${T(103)}")() }}`,
];

/** The corpus: every hostile body with a plain title, then hostile titles with plain bodies. */
export function hostilePosts(): HostilePost[] {
  return [
    ...BODIES.map((body, i) => ({ title: `Hostile ${i + 1}`, body: `Before the payload.\n\n${body}\n\nAfter the payload.` })),
    ...TITLES.map((title) => ({ title, body: 'A post whose title is the attack.' })),
  ];
}

/** An unsanitized page that does fire the tripwire, to prove the detector works. */
export const CONTROL_HTML = `<!doctype html><p>control</p><img src=x onerror="${T(999)}"><script>alert(998)</script>`;
