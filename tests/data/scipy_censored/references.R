# Tight R references for the cases of scipy's scipy/stats/tests/test_continuous_fit_censored.py
# (scipy commit 3dbf660a, 2026-08-22), ported in tests/stats/test_censored_scipy_cases.py.
# Rscript references.R (from this folder); R 4.2.2, fitdistrplus 1.1.8, survival 3.5.3,
# numDeriv 2016.8.1.1, evd 2.3-6.1, statmod 1.5.0. Data as in scipy's file.
source("../fitdistrplus/tight.R")
suppressPackageStartupMessages({library(evd); library(statmod)})  # gumbel; inverse Gaussian

lr <- function(exact = c(), left = c(), right = c(), low = c(), high = c()) {
  data.frame(left = c(exact, rep(NA, length(left)), right, low),
             right = c(exact, left, rep(NA, length(right)), high))
}
run <- function(label, data, distr, start = NULL, fix.arg = NULL, survreg = NA) {
  show_tight(label, tight_fit(data, distr, start, fix.arg))
  if (!is.na(survreg)) show_survreg(label, survreg_fit(data, survreg))
  cat("\n")
}

# scipy's parameterizations, as R d/p functions
dlaplace <- function(x, location = 0, scale = 1) 0.5 * exp(-abs((x - location) / scale)) / scale
plaplace <- function(q, location = 0, scale = 1) {
  z <- (q - location) / scale
  ifelse(z < 0, 0.5 * exp(z), 1 - 0.5 * exp(-z))
}
# invgauss(mu, scale = s): the inverse Gaussian of mean mu * s and shape s
dig <- function(x, mu, scale, log = FALSE) dinvgauss(x, mean = mu * scale, shape = scale, log = log)
pig <- function(q, mu, scale, lower.tail = TRUE, log.p = FALSE)
  pinvgauss(q, mean = mu * scale, shape = scale, lower.tail = lower.tail, log.p = log.p)
# invweibull(c, scale) (loc 0): evd's frechet, NaN (not an error) outside the domain
dinvw <- function(x, c, scale, log = FALSE) {
  if (c <= 0 || scale <= 0) return(rep(NaN, length(x)))
  z <- x / scale
  v <- log(c / scale) - (c + 1) * log(z) - z^(-c)
  if (log) v else exp(v)
}
pinvw <- function(q, c, scale, lower.tail = TRUE, log.p = FALSE) {
  if (c <= 0 || scale <= 0) return(rep(NaN, length(q)))
  logF <- -(q / scale)^(-c)
  if (lower.tail) v <- logF else v <- log(-expm1(logF))
  if (log.p) v else exp(v)
}
# weibull_min(c, loc, scale): the two-parameter weibull shifted by loc
dweib3 <- function(x, c, loc, scale, log = FALSE) dweibull(x - loc, c, scale, log = log)
pweib3 <- function(q, c, loc, scale, lower.tail = TRUE, log.p = FALSE)
  pweibull(q - loc, c, scale, lower.tail = lower.tail, log.p = log.p)

mixed <- lr(exact = c(1, 10), left = 1, right = 30, low = 4, high = 8)
run("test_beta", lr(low = c(0.10, 0.50, 0.75, 0.80), high = c(0.20, 0.55, 0.90, 0.95)), "beta")
run("test_cauchy_right_censored", lr(exact = c(1, 10), right = 30), "cauchy")
run("test_cauchy_mixed", mixed, "cauchy")
run("test_chi2_mixed", mixed, "chisq", start = list(df = 5))
run("test_gamma_right_censored",
    lr(exact = c(2.5, 2.9, 3.8, 9.1, 9.3, 12.0, 23.0), right = 25), "gamma",
    start = list(shape = 1, rate = 0.1))
run("test_gumbel", lr(exact = c(2, 3, 9), right = c(10, 10), low = 0, high = 1), "gumbel",
    start = list(loc = 4, scale = 5))
ig <- lr(exact = c(0.4813096, 0.5571880, 0.5132463, 0.3801414, 0.5904386, 0.4822340,
                   0.3478597, 0.7191797, 1.5810902, 0.4442299), left = 0.15, right = 3)
run("test_invgauss (mu)", ig, "ig", start = list(mu = 3), fix.arg = list(scale = 1))
run("test_invgauss (mu, scale)", ig, "ig", start = list(mu = 1, scale = 1))
run("test_invweibull", lr(exact = c(2, 3, 9), right = c(10, 10), low = 0, high = 1),
    "invw", start = list(c = 1, scale = 5))
obs <- c(-50.0, -41.564, 50.0, 15.7384, 50.0, 10.0452, -2.0684, -19.5399, 50.0, 9.0005,
         27.1227, 4.3113, -3.7372, 25.3111, 14.7987, 34.0887, 50.0, 42.8496, 18.5862,
         32.8921, 9.0448, -27.4591, -50.0, 19.5083, -9.7199)
# The laplace likelihood is piecewise linear in the location between data points (the
# censored terms too: log F and log S are linear in it beyond the median), so its
# maximum is at a data point, 14.7987, where the slope changes sign; the Newton polish
# cannot work there, so the scale is fitted with the location held at that point, and
# the profile on either side shows it is the maximum.
lap <- lr(exact = obs[abs(obs) != 50], left = obs[obs == -50], right = obs[obs == 50])
run("test_laplace (location held at 14.7987)", lap, "laplace", start = list(scale = 10),
    fix.arg = list(location = 14.7987))
for (loc in 14.7987 + c(-1e-4, 1e-4)) {
  r <- tight_fit(lap, "laplace", start = list(scale = 30), fix.arg = list(location = loc))
  cat(sprintf("  profile at location %.12g: loglik %.12g\n", loc, r$loglik))
}
cat("\n")
x <- c(13.5401, 37.4235, 11.906, 13.998, 0.0, 0.4023, 0.0, 10.9044, 21.0629, 9.6985, 0.0,
       12.9016, 39.164, 34.6396, 0.0, 20.3665, 16.5889, 18.0952, 45.3818, 35.3306, 8.4949,
       3.4041, 0.0, 7.2828, 37.1265, 6.5969, 17.6868, 17.4977, 16.3391, 36.0541)
run("test_logistic", lr(exact = x[x != 0], left = x[x == 0]), "logis")
miles <- c(22.5, 37.5, 46.0, 48.5, 51.5, 53.0, 54.5, 57.5, 66.5, 68.0, 69.5, 76.5, 77.0,
           78.5, 80.0, 81.5, 82.0, 83.0, 84.0, 91.5, 93.5, 102.5, 107.0, 108.5, 112.5,
           113.5, 116.0, 117.0, 118.5, 119.0, 120.0, 122.5, 123.0, 127.5, 131.0, 132.5, 134.0)
run("test_lognorm", lr(exact = miles, right = rep(135, 59)), "lnorm", survreg = "lognormal")
run("test_nct", lr(exact = c(1, 2, 3, 5, 8, 10), right = c(25, 25)), "t",
    start = list(df = 1, ncp = 2))
run("test_ncx2", lr(exact = c(2.7, 0.2, 6.5, 0.4, 0.1), right = c(8, 8), low = 0.6, high = 1.0),
    "chisq", start = list(df = 1, ncp = 2))
run("test_norm", lr(low = c(0.10, 0.50, 0.75, 0.80), high = c(0.20, 0.55, 0.90, 0.95)), "norm",
    survreg = "gaussian")
s <- "3,5,6*,8,10*,11*,15,20*,22,23,27*,29,32,35,40,26,28,33*,21,24*"
cens <- grepl("\\*", strsplit(s, ",")[[1]])
times <- as.numeric(sub("\\*", "", strsplit(s, ",")[[1]]))
run("test_weibull_censored1", lr(exact = times[!cens], right = times[cens]), "weibull",
    survreg = "weibull")
sas1 <- matrix(c(450, 0, 460, 1, 1150, 0, 1150, 0, 1560, 1, 1600, 0, 1660, 1, 1850, 1, 1850, 1,
  1850, 1, 1850, 1, 1850, 1, 2030, 1, 2030, 1, 2030, 1, 2070, 0, 2070, 0, 2080, 0, 2200, 1,
  3000, 1, 3000, 1, 3000, 1, 3000, 1, 3100, 0, 3200, 1, 3450, 0, 3750, 1, 3750, 1, 4150, 1,
  4150, 1, 4150, 1, 4150, 1, 4300, 1, 4300, 1, 4300, 1, 4300, 1, 4600, 0, 4850, 1, 4850, 1,
  4850, 1, 4850, 1, 5000, 1, 5000, 1, 5000, 1, 6100, 1, 6100, 0, 6100, 1, 6100, 1, 6300, 1,
  6450, 1, 6450, 1, 6700, 1, 7450, 1, 7800, 1, 7800, 1, 8100, 1, 8100, 1, 8200, 1, 8500, 1,
  8500, 1, 8500, 1, 8750, 1, 8750, 0, 8750, 1, 9400, 1, 9900, 1, 10100, 1, 10100, 1,
  10100, 1, 11500, 1), ncol = 2, byrow = TRUE)
life <- sas1[, 1] / 1000
run("test_weibull_min_sas1", lr(exact = life[sas1[, 2] == 0], right = life[sas1[, 2] == 1]),
    "weibull", survreg = "weibull")
days <- c(143, 164, 188, 188, 190, 192, 206, 209, 213, 216, 220, 227, 230, 234, 246, 265, 304)
run("test_weibull_min_sas2", lr(exact = days, right = c(216, 244)), "weib3",
    start = list(c = 2, loc = 100, scale = 100))
