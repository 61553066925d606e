# cft's hooks for zsh, appended by `cft hook zsh` after the lines that
# set __cft_bin, CFT_DB, CFT_SESSION and PATH: preexec records each typed
# line as it starts, precmd how it ended (add-zsh-hook). Undo with
# `cft_unhook`.
__cft_preexec() {
    CFT_INTENT_PARENT=$("$__cft_bin" __hook start --pid "$$" -- "${1:-$3}" 2>/dev/null) || CFT_INTENT_PARENT=
    export CFT_INTENT_PARENT
}
__cft_precmd() {
    local st=$?
    if [[ -n ${CFT_INTENT_PARENT-} ]]; then
        "$__cft_bin" __hook end "$CFT_INTENT_PARENT" "$st" 2>/dev/null
        unset CFT_INTENT_PARENT
    fi
    return $st
}
autoload -Uz add-zsh-hook
add-zsh-hook preexec __cft_preexec
precmd_functions=(__cft_precmd ${precmd_functions:#__cft_precmd})
cft_unhook() {
    [[ -n ${CFT_INTENT_PARENT-} ]] && "$__cft_bin" __hook end "$CFT_INTENT_PARENT" 0 2>/dev/null
    add-zsh-hook -d preexec __cft_preexec
    add-zsh-hook -d precmd __cft_precmd
    PS1=$__cft_ps1
    PATH=$__cft_path
    unset CFT_SESSION CFT_INTENT_PARENT
    unfunction __cft_preexec __cft_precmd cft_unhook
}
