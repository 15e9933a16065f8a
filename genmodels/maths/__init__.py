"""Maths shared by several families, owned by none: Gaussian densities and sufficient
statistics (:mod:`.gaussian`, used by the mixtures and the Gaussian/GMM HMMs) and k-means
initialisation (:mod:`.kmeans`). Pure torch functions; no estimator lives here."""
