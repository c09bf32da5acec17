# survival::survreg fits of the lifelines data sets here, the second reference of
# tests/stats/test_censored_lifelines.py: Rscript references.R (from this folder);
# R 4.2.2, survival 3.5.3. mice: a lower bound 0 is left-censoring (NA) for survreg.
source("../fitdistrplus/tight.R")
w <- read.csv("waltons.csv")
waltons <- data.frame(left = w$T, right = ifelse(w$E == 1, w$T, NA))
m <- read.csv("mice.csv")
mice <- data.frame(left = ifelse(m$l == 0, NA, m$l), right = m$u)
for (dist in c("weibull", "lognormal", "exponential", "loglogistic")) {
  show_survreg(paste("waltons", dist), survreg_fit(waltons, dist))
  show_survreg(paste("mice", dist), survreg_fit(mice, dist))
}
