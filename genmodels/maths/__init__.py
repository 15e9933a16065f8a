"""Maths shared by several families, owned by none: Gaussian densities and sufficient
statistics (:mod:`.gaussian`, used by the mixtures and the Gaussian/GMM HMMs), k-means
initialisation (:mod:`.kmeans`) and posteriors over classes or components
(:mod:`.posterior`). Pure torch functions; no estimator lives here."""
