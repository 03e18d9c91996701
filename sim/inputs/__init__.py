"""Inputs: errors, process set-up, parameters declared once, seeds and named streams, data files, the network, posteriors."""
