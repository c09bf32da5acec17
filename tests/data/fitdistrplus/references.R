# Reference fits for tests/stats/test_censored_references.py: Rscript references.R
# (from this folder), R 4.2.2, fitdistrplus 1.1.8, survival 3.5.3, numDeriv 2016.8.1.1.
source("tight.R")
data(salinity, fluazinam, smokedfish, package = "fitdistrplus")
log10salinity <- log10(salinity)

for (case in list(
  list("salinity", salinity, "lnorm", "lognormal"),
  list("salinity", salinity, "weibull", "weibull"),
  list("salinity", salinity, "gamma", NA),
  list("log10 salinity", log10salinity, "norm", "gaussian"),
  list("fluazinam", fluazinam, "lnorm", "lognormal"),
  list("fluazinam", fluazinam, "weibull", "weibull"),
  list("smokedfish", smokedfish, "lnorm", "lognormal"),
  list("smokedfish", smokedfish, "weibull", "weibull")
)) {
  label <- paste(case[[1]], case[[3]])
  show_tight(label, tight_fit(case[[2]], case[[3]]))
  if (!is.na(case[[4]])) show_survreg(label, survreg_fit(case[[2]], case[[4]]))
  cat("\n")
}
