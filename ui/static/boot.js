// Loads the wasm UI (a separate file: the CSP allows no inline script).
import init from './portcullis_ui.js';

const boot = document.getElementById('boot');
init()
  .then(() => boot && boot.remove())
  .catch((err) => {
    if (boot) {
      boot.className = 'boot failed';
      boot.textContent = 'Portcullis could not start its interface: ' + err;
    }
    console.error(err);
  });
