"""Networks (generator, discriminator, pose estimator) and their self-describing checkpoints."""
