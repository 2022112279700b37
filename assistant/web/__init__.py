"""The web chat (Gradio)."""
