"""Live training: the controller the app installs on the window, and the run worker."""
