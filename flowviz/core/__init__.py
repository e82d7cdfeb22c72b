"""The math core: paths, exact marginal fields, couplings, training. No Qt here."""
