// Applies the stored theme before the first paint (no flash); the app's toggle writes it.
try {
  var t = localStorage.getItem('portcullis-theme');
  if (t === 'dark' || t === 'light') document.documentElement.setAttribute('data-theme', t);
} catch (e) { /* storage unavailable: follow the OS */ }
