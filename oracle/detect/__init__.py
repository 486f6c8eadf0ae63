"""Gaming detection: detectors over the verified history, and the policy that turns their
findings into denylist entries (`pocnet-oracle detect`)."""
