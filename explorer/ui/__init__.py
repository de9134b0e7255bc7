"""Qt views over explorer.core. Threads live in explorer.ui.workers only."""
