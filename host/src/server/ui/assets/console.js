// The console's only script: copy buttons (the redirect URI, a new key). Every page works
// without it; a button that cannot copy says so and leaves the text selectable.
document.addEventListener("click", async (event) => {
  const button = event.target.closest("button[data-copy]");
  if (!button) return;
  const source = document.getElementById(button.dataset.copy);
  if (!source) return;
  try {
    await navigator.clipboard.writeText(source.textContent.trim());
    button.textContent = "Copied";
  } catch {
    window.getSelection().selectAllChildren(source);
    button.textContent = "Press Ctrl+C to copy";
  }
  setTimeout(() => { button.textContent = "Copy"; }, 2000);
});
document.querySelectorAll("button[data-copy]").forEach((b) => { b.hidden = false; });
