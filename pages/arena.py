import streamlit as st
st.title('arena')
st.info('This page is being built.')
