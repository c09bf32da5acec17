# A censored maximum-likelihood fit run to its optimum, for reference values.
#
# tight_fit() runs fitdistcens with optim's reltol at 1e-15, restarts it from its own
# estimate until the estimate stops moving, then polishes it with Newton steps on the
# same censored log-likelihood (numDeriv's Richardson-extrapolated gradient and Hessian),
# so the estimate is where the score is zero to ~1e-9, not where optim gave up. The
# standard errors are sqrt(diag(solve(-H))) of that Hessian: the observed information.
# survreg_fit() is survival::survreg (Newton-Raphson on analytic derivatives) for the
# (log-)location-scale families, with its (Intercept, Log(scale)) mapped to the natural
# parameters (weibull and loglogistic: shape = 1 / scale, scale = exp(intercept);
# exponential: rate = exp(-intercept); lognormal and gaussian: mu, sigma) and their standard errors by the delta method (exact at the MLE).
# Everything is printed with sprintf("%.12g").
suppressPackageStartupMessages({
  library(fitdistrplus)
  library(numDeriv)
  library(survival)
})

cens_loglik <- function(data, distr, fix.arg = list()) {
  d <- get(paste0("d", distr), mode = "function")
  p <- get(paste0("p", distr), mode = "function")
  l <- data$left
  r <- data$right
  exact <- !is.na(l) & !is.na(r) & l == r
  left <- is.na(l)
  right <- is.na(r)
  inter <- !exact & !left & !right
  has_log <- "log" %in% names(formals(d)) && "log.p" %in% names(formals(p))
  function(par) {
    a <- c(as.list(par), fix.arg)
    s <- 0
    if (has_log) {
      s <- s + sum(do.call(d, c(list(l[exact], log = TRUE), a)))
      s <- s + sum(do.call(p, c(list(r[left], log.p = TRUE), a)))
      s <- s + sum(do.call(p, c(list(l[right], lower.tail = FALSE, log.p = TRUE), a)))
    } else {
      s <- s + sum(log(do.call(d, c(list(l[exact]), a))))
      s <- s + sum(log(do.call(p, c(list(r[left]), a))))
      s <- s + sum(log(1 - do.call(p, c(list(l[right]), a))))
    }
    if (any(inter)) {
      s <- s + sum(log(do.call(p, c(list(r[inter]), a)) - do.call(p, c(list(l[inter]), a))))
    }
    s
  }
}

tight_fit <- function(data, distr, start = NULL, fix.arg = NULL) {
  ctl <- list(reltol = 1e-15, maxit = 10000)
  fd <- function(s) {
    if (is.null(fix.arg)) fitdistcens(data, distr, start = s, control = ctl)
    else fitdistcens(data, distr, start = s, fix.arg = fix.arg, control = ctl)
  }
  f <- fd(start)
  for (i in 1:10) {
    g <- fd(as.list(f$estimate))
    moved <- max(abs(g$estimate / f$estimate - 1))
    f <- g
    if (moved < 1e-13) break
  }
  ll <- cens_loglik(data, distr, if (is.null(fix.arg)) list() else fix.arg)
  par <- f$estimate
  for (i in 1:50) {
    step <- solve(hessian(ll, par), grad(ll, par))
    par <- par - step
    if (max(abs(step / par)) < 1e-14) break
  }
  H <- hessian(ll, par)
  list(fitdistcens = f, estimate = par, loglik = ll(par), grad = grad(ll, par),
       se = setNames(sqrt(diag(solve(-H))), names(par)))
}

survreg_fit <- function(data, dist) {
  sr <- survreg(Surv(left, right, type = "interval2") ~ 1, data = data, dist = dist,
                control = survreg.control(rel.tolerance = 1e-14, iter.max = 1000))
  b <- unname(coef(sr)[1])
  s <- sr$scale
  v <- sr$var  # (Intercept), Log(scale)
  if (dist == "exponential") {  # the scale is 1: the intercept is log(1 / rate)
    est <- c(rate = exp(-b))
    se <- c(rate = exp(-b) * sqrt(v[1, 1]))
  } else if (dist %in% c("weibull", "loglogistic")) {
    est <- c(shape = 1 / s, scale = exp(b))
    se <- c(shape = sqrt(v[2, 2]) / s, scale = exp(b) * sqrt(v[1, 1]))
  } else {
    est <- c(mu = b, sigma = s)
    se <- c(mu = sqrt(v[1, 1]), sigma = s * sqrt(v[2, 2]))
  }
  list(estimate = est, se = se, loglik = sr$loglik[2], iter = sr$iter)
}

g12 <- function(x) paste(sprintf("%s=%.12g", names(x), x), collapse = "  ")

show_tight <- function(label, r) {
  cat(sprintf("%s  [tight fitdistcens + Newton]\n", label))
  cat("  estimate ", g12(r$estimate), "\n")
  cat("  se       ", g12(r$se), "\n")
  cat(sprintf("  loglik    %.12g   max|grad| %.2g\n", r$loglik, max(abs(r$grad))))
  f <- r$fitdistcens
  cat(sprintf("  (fitdistcens at reltol 1e-15, restarted: %s  loglik %.12g; rel. to polished %.2g)\n",
              g12(f$estimate), f$loglik, max(abs(f$estimate / r$estimate - 1))))
}

show_survreg <- function(label, r) {
  cat(sprintf("%s  [survreg, %d Newton iterations]\n", label, r$iter))
  cat("  estimate ", g12(r$estimate), "\n")
  cat("  se       ", g12(r$se), "\n")
  cat(sprintf("  loglik    %.12g\n", r$loglik))
}
