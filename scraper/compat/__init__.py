"""One module per dependency whose private parts we use: what exactly, and why, is said there."""
