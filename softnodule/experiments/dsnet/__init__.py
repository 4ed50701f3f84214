"""DSNet and SoftGAN: the TNNLS tables, the conference ablation, the Soft Mask pipeline and SR pretraining."""
