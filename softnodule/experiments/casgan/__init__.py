"""CasGAN: SR cascaded with a Soft Mask GAN (segmentation tables and the radiomics study)."""
