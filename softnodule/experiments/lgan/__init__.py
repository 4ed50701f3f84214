"""LGAN: lung segmentation with WGAN critics (five discriminator structures)."""
